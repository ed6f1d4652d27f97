"""Running the app: gunicorn and its request-buffering worker."""
