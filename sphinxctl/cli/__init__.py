"""The sphinxctl command tree (typer). Thin: parse, call one domain function, render."""
