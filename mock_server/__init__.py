"""A vendor-faithful mock of the Magic Mix and Image Mixer endpoints, driven by the kit's OpenAPI specs."""
