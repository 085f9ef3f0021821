"""The serving library: engines, model source and hot reload, YOLO pre/post-processing, Ray and Triton clients."""
