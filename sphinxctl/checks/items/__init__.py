"""The automated checks, one module per area; each function is registered under its item id."""
