"""Messages outside the browser: notifications also sent by email and to group robots, through the outbox."""
