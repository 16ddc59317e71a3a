"""platescan's Pulumi program: one ComponentResource per concern, composed by __main__.py."""
