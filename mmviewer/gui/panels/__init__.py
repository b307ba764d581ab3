"""The small side panels (fusion, metrics, text query) and the panel registry."""
