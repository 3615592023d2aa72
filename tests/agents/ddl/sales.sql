-- marts.fct_sales_funnel for the SalesOps agent (tests/agents/test_sales_ops.py computes every number again).
--
-- all_deals: deals now in each stage 3 / 2 / 6 / 1 / 1 open, 10 won, 4 lost. Reached (a deal in a stage or a
-- later one; lost deals count only in the first stage): 27 / 20 / 18 / 12 / 11 / 10 → conversions 20/27,
-- 18/20, 12/18, 11/12, 10/11. Drop-offs 7 (3 open + 4 lost), 2, 6, 1, 1: the most deals leave after
-- appointmentscheduled (7, 25.93 %), the worst rate is presentationscheduled → decisionmakerboughtin
-- (66.67 %). Win rate 10 / 14; median 2.5 days to win (renewals take days).
-- first_deal (each contact's first deal, without the 6 renewals): 21 / 14 / 12 / 6 / 5 / 4 reached, 4 won,
-- 4 lost, win rate 0.5; won deals close 0.0035 days (5.04 minutes) after they are created.
create table marts.fct_sales_funnel (
    funnel varchar, deal_stage varchar, stage_order integer, is_open_stage boolean, deals_in_stage bigint,
    amount_brl decimal(18, 2), deals_reached bigint, conversion_from_previous_rate double, reached_pct double,
    won_deals bigint, lost_deals bigint, win_rate double, median_days_to_win double, avg_days_to_win double
);
insert into marts.fct_sales_funnel values
    ('all_deals', 'appointmentscheduled', 1, true, 3, 300.00, 27, null, 1.0, 10, 4, 10 / 14, 2.5, 2.4014),
    ('all_deals', 'qualifiedtobuy', 2, true, 2, 200.00, 20, 20 / 27, 20 / 27, 10, 4, 10 / 14, 2.5, 2.4014),
    ('all_deals', 'presentationscheduled', 3, true, 6, 900.00, 18, 18 / 20, 18 / 27, 10, 4, 10 / 14, 2.5, 2.4014),
    ('all_deals', 'decisionmakerboughtin', 4, true, 1, 150.00, 12, 12 / 18, 12 / 27, 10, 4, 10 / 14, 2.5, 2.4014),
    ('all_deals', 'contractsent', 5, true, 1, 100.00, 11, 11 / 12, 11 / 27, 10, 4, 10 / 14, 2.5, 2.4014),
    ('all_deals', 'closedwon', 6, false, 10, 1500.00, 10, 10 / 11, 10 / 27, 10, 4, 10 / 14, 2.5, 2.4014),
    ('all_deals', 'closedlost', 7, false, 4, 400.00, 4, null, 4 / 27, 10, 4, 10 / 14, 2.5, 2.4014),
    ('first_deal', 'appointmentscheduled', 1, true, 3, 300.00, 21, null, 1.0, 4, 4, 0.5, 0.0035, 0.0035),
    ('first_deal', 'qualifiedtobuy', 2, true, 2, 200.00, 14, 14 / 21, 14 / 21, 4, 4, 0.5, 0.0035, 0.0035),
    ('first_deal', 'presentationscheduled', 3, true, 6, 900.00, 12, 12 / 14, 12 / 21, 4, 4, 0.5, 0.0035, 0.0035),
    ('first_deal', 'decisionmakerboughtin', 4, true, 1, 150.00, 6, 6 / 12, 6 / 21, 4, 4, 0.5, 0.0035, 0.0035),
    ('first_deal', 'contractsent', 5, true, 1, 100.00, 5, 5 / 6, 5 / 21, 4, 4, 0.5, 0.0035, 0.0035),
    ('first_deal', 'closedwon', 6, false, 4, 600.00, 4, 4 / 5, 4 / 21, 4, 4, 0.5, 0.0035, 0.0035),
    ('first_deal', 'closedlost', 7, false, 4, 400.00, 4, null, 4 / 21, 4, 4, 0.5, 0.0035, 0.0035);
