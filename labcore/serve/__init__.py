"""Lessons 20-21: save a trained model (state dict, TorchScript, ONNX, metadata), show it as a plain PyTorch
script, and serve it over HTTP (FastAPI, optional extra `[serve]`, imported only inside functions)."""
