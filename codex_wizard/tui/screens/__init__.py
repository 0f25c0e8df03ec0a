"""One screen per step of the wizard, plus the dialogs and the error screens."""
