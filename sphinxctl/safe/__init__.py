"""Operating through the Safe multisig: propose, sign, inspect and execute Safe transactions.

Light at import (pydantic only); web3 / eth-account are imported where a function needs them.
"""
