"""Who may do what: roles.yaml enforced in one place, users, teams and tokens."""
