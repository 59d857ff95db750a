"""VON family: Vermont Oxford Network late sepsis or meningitis in very-low-birth-weight infants."""
