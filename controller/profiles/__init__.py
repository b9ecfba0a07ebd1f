"""Device profiles shipped as package data (*.json), read by controller.costmodel.profiles."""
