"""The intent studio: content versions, the publish gate, the live switch on every instance, and the staff
service behind the studio API and the `python -m bot content` CLI."""
