"""The app's logic, testable without a browser: finding runs, caching models, building plots."""
