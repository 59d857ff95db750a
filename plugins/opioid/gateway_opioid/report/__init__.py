"""The one-page prescriber report and its delivery to health systems (``gateway opip reports``).
"""
