"""The Qt-free app model: view state, derived data, the job runner and its policies."""
