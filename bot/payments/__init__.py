"""统一公共支付: orders for case fees, notifications, refunds and reconciliation."""
