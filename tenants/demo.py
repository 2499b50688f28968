"""The demo vendor, which ``ensure_demo_vendor`` creates and the demo page chats as."""

# vendor_create derives the slug from the name "Demo".
DEMO_SLUG = "demo"
