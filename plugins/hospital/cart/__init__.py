"""CART family: CMS/Joint Commission chart-abstracted measures submitted as XML."""
