"""Cross-modal aligners (scikit-learn style) and their registry."""
