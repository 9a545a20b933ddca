"""Services: async functions over the models that enforce Kizuna's rules."""
