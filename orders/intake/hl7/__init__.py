"""HL7 v2 intake: ORM^O01 over MLLP (SPEC 4.3). ``listener`` runs the asyncio server, ``intake``
handles one frame (store, map, order service, ACK), ``senders`` recognises the sending
interface, ``mapping`` is ORM -> OrderRequest, ``ack`` builds the answers, ``message`` reads and
redacts the text. See docs/integrations/hl7.md."""
