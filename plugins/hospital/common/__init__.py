"""Code the hospital families share: collected rules, periods, recognition, manifests."""
