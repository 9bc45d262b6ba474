"""Transfer learning: pretrained backbones, three training strategies raced on the same batches, safe uploads
of your own images, exports. The page is app/views/transfer.py; nothing here imports streamlit."""
