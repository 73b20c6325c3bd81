"""The built-in offline toy family: captioned shapes, a small autoencoder, text encoder, UNets and scorer."""

# Bump when drawing or captioning changes: it is part of the path of everything built from the data.
DATA_VERSION = 3
