"""Compile the platform's Solidity contracts and manage their artifacts.

`compiler.compile_contracts` is the entry point; `artifacts.load_artifacts` reads what it wrote.
The pinned compiler, optimizer and EVM target (and why) are in `profile`. Nothing heavy is
imported here: py-solc-x is loaded only by `backend` when a compile actually runs.
"""
