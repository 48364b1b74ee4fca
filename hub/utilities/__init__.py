"""Built-in utilities that keep their state in the hub's own database (storage, assignment, ...).

They are connectors like any other (found through the `hub.connectors` entry points, needing no
connection), but live under hub/ rather than connectors/ because they reach the database through
`Context.hub`, the Runtime, which connectors under connectors/ may not import.
"""
