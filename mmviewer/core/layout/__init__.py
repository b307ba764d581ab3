"""2-D layouts: PCA, UMAP in a helper process, nearest neighbours, point lookup."""
