"""Autoencoders (the book's lesson 10): dense and convolutional, plain, denoising and variational; their
latent space, a PCA baseline with the same number of components, and anomaly detection by reconstruction error.
"""

from labcore.autoencoders.config import AEConfig
from labcore.autoencoders.models import AUTOENCODERS, Autoencoder, build_autoencoder, kl_divergence
from labcore.autoencoders.train import AETrainer, AutoencoderJob, train_autoencoder

__all__ = ["AEConfig", "AETrainer", "AUTOENCODERS", "Autoencoder", "AutoencoderJob", "build_autoencoder",
           "kl_divergence", "train_autoencoder"]
