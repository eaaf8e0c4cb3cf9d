/** Tables of sql/0005_outbound_webhooks.sql. */
export interface OutboundWebhookTables {}
