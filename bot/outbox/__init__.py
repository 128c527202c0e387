"""The transactional outbox: events written with the change that caused them (storage), the handlers each event
type goes to (registry), and the dispatcher that runs them with a delivery state per event and handler."""
