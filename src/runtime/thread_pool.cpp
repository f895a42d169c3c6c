// placeholder until the thread pool lands
