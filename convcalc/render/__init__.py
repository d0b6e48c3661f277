"""Rendering: one column definition shared by the Rich table, JSON, CSV and Markdown.

Only `render.table` imports rich, and only when a table is printed.
"""
