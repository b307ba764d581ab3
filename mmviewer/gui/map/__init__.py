"""The map panel: points, colours, hover, selection tools, export."""
