"""The generated record pages: list, detail, form, import, export, conversion, pool actions."""
