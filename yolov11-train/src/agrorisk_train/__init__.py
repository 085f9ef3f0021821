"""YOLO11 training, fine-tuning, Optuna tuning, export and evaluation with W&B tracking."""
