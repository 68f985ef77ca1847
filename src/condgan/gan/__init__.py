"""The GAN itself: the LightningModule, its losses, penalties, augmentation and learning-rate decay."""
