"""The built-in offline toy family: captioned shapes, a small autoencoder, text encoder, UNets and scorer."""
