"""The Preview panel: image, text and audio of the current item; thumbnails."""
