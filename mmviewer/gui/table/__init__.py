"""The item table panel: a Qt model over the item arrays, its view, the selection actions."""
