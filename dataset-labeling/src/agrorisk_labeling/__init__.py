"""From crawled photos to a versioned YOLO dataset: auto-labels, Label Studio review, Stable Diffusion top-up, imports."""
