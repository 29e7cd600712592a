"""Customer text made safe to work on: normalised once at the edge, scanned in bounded windows."""
