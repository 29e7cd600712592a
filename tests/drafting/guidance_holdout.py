"""Held-out conversations for guidance: written before the flow-selection work of issue 17 and
measured once before any change, then never read to tune (benchmarks/guidance_flows.py reports
them apart from the dev set in guidance_data.WRITTEN).

Two or more per ABCD flow family, mostly sub-flows the dev set does not have, in other words,
with greetings, agent turns and the names, ids and details that real chats carry.
"""

from __future__ import annotations

HOLDOUT: list[tuple[str, list[tuple[str, str]]]] = [
    # Product defect
    (
        "abcd-product_defect.refund_status",
        [
            ("customer", "hi there"),
            ("agent", "Hello! How can I help you today?"),
            ("customer", "I sent back a pair of jeans two weeks ago and still haven't seen the money. Where is it?"),
            ("agent", "I'm sorry for the wait. Can I have your full name or account ID?"),
            ("customer", "Maria Lopez"),
            ("agent", "Thanks Maria. Could you give me your username, email address and order ID?"),
            ("customer", "mlopez22, mlopez22@email.com, order 4481920"),
        ],
    ),
    (
        "abcd-product_defect.return_size",
        [
            ("customer", "These trousers are way too small for me, even though I ordered my usual size."),
            ("customer", "Can I send them back?"),
            ("agent", "Of course, I can set up a return. May I have your name please?"),
            ("customer", "Tom Becker"),
        ],
    ),
    (
        "abcd-product_defect.refund_update",
        [
            ("customer", "Hello, I already have a refund going for a dress."),
            ("customer", "I'd also like to add the belt from the same order to that refund, it broke too."),
            ("agent", "Sure, I can help with that. What is your account ID?"),
        ],
    ),
    # Order issue
    (
        "abcd-order_issue.status_quantity",
        [
            ("customer", "My confirmation email says 1 shirt but I ordered 3 of them. Did something go wrong?"),
            ("agent", "Let me look into that for you. Can I get your full name?"),
            ("customer", "Priya Shah"),
            ("agent", "Thank you Priya, and the order ID and your username?"),
        ],
    ),
    (
        "abcd-order_issue.manage_upgrade",
        [
            ("customer", "hey"),
            ("customer", "I need my order by tomorrow for a wedding, can I switch it to overnight delivery?"),
            ("agent", "Let's see what we can do. Your name or account ID please?"),
        ],
    ),
    (
        "abcd-order_issue.manage_create",
        [
            ("customer", "I placed an order this morning and forgot a belt. Can you add it to the same order?"),
            ("agent", "Happy to help. What's your full name?"),
            ("customer", "Leo Grant"),
        ],
    ),
    # Account access
    (
        "abcd-account_access.recover_password",
        [
            ("customer", "good morning"),
            ("agent", "Good morning, what can I do for you?"),
            ("customer", "I keep typing my password wrong and now I can't sign in at all. I need a new one."),
            ("agent", "I can reset that for you. What's your full name and username?"),
        ],
    ),
    (
        "abcd-account_access.reset_2fa",
        [
            ("customer", "The app asks for a verification code every time I sign in."),
            ("customer", "The code is supposed to go to my old phone which I no longer have."),
            ("agent", "I see. I can send a reset code to your email instead. What is your email address?"),
        ],
    ),
    # Troubleshoot site
    (
        "abcd-troubleshoot_site.shopping_cart",
        [
            ("customer", "Whenever I click add to basket nothing happens, my basket stays empty."),
            ("agent", "Sorry about that. Have you tried logging out and back in?"),
            ("customer", "yes, still the same"),
        ],
    ),
    (
        "abcd-troubleshoot_site.search_results",
        [
            ("customer", "hello"),
            ("customer", "Every time I look for something on the site it just says no results found, even for shirts."),
            ("agent", "That's odd. Could you try clearing your browser cookies and searching again?"),
        ],
    ),
    # Manage account
    (
        "abcd-manage_account.status_service_added",
        [
            ("customer", "There's a service on my account that I never signed up for. Why was it added?"),
            ("agent", "Let me check. May I have your full name or account ID?"),
            ("customer", "Sam Ortiz"),
        ],
    ),
    (
        "abcd-manage_account.manage_change_name",
        [
            ("customer", "I got married last month and want my account to show my new last name."),
            ("agent", "Congratulations! Can I get your account ID so I can update it?"),
        ],
    ),
    (
        "abcd-manage_account.status_shipping_question",
        [
            ("customer", "Does my account let me ship for free to another country? I'm moving to Canada."),
            ("agent", "Let me pull up your account. What's your name?"),
        ],
    ),
    # Purchase dispute
    (
        "abcd-purchase_dispute.bad_price_yesterday",
        [
            ("customer", "I bought a jacket this morning and today it's $20 cheaper than what I paid yesterday."),
            ("customer", "That's not fair, can you do something?"),
            ("agent", "I understand. Can I have your full name to look up the purchase?"),
        ],
    ),
    (
        "abcd-purchase_dispute.promo_code_out_of_date",
        [
            (
                "customer",
                "My discount code says it has expired but the email said it's good until the end of the month.",
            ),
            ("agent", "Sorry about that. Could you tell me the code and your name?"),
        ],
    ),
    (
        "abcd-purchase_dispute.mistimed_billing_never_bought",
        [
            ("customer", "I got charged on my bill for a coat I never ordered."),
            ("agent", "Let's sort that out. May I have your full name or account ID?"),
            ("customer", "Nina Park"),
        ],
    ),
    # Shipping issue
    (
        "abcd-shipping_issue.manage",
        [
            (
                "customer",
                "I just noticed I put my old address on the order that's shipping, can I change where it goes?",
            ),
            ("agent", "Sure, I can update the shipping address. What's your name?"),
        ],
    ),
    (
        "abcd-shipping_issue.status",
        [
            ("customer", "I got an email saying my delivery had a problem."),
            ("customer", "Is my package still on its way?"),
            ("agent", "Let me check the shipment for you. Can I have your name or account ID?"),
        ],
    ),
    # Subscription inquiry
    (
        "abcd-subscription_inquiry.status_active",
        [
            ("customer", "I paid for my premium plan yesterday. Did the payment go through, is it still active?"),
            ("agent", "Let me check that. What's your full name?"),
        ],
    ),
    (
        "abcd-subscription_inquiry.manage_dispute_bill",
        [
            ("customer", "I was billed twice for my subscription this month, I should only pay once."),
            ("agent", "I'm sorry to hear that. May I have your account ID?"),
        ],
    ),
    (
        "abcd-subscription_inquiry.status_due_date",
        [
            ("customer", "When does my membership subscription renew each month? I want to know the date."),
            ("agent", "I can look that up. What's your name please?"),
        ],
    ),
    # Single-item query
    (
        "abcd-single_item_query.shirt",
        [
            ("customer", "hi, quick question"),
            ("customer", "Can I put the Calvin Klein shirt in the dryer or will it shrink?"),
            ("agent", "Good question, let me check the care instructions for that shirt."),
        ],
    ),
    (
        "abcd-single_item_query.jacket",
        [
            ("customer", "Is the Guess jacket warm enough for winter, and can the hood come off?"),
            ("agent", "Let me look up that jacket for you."),
        ],
    ),
    # Storewide query
    (
        "abcd-storewide_query.timing",
        [
            ("customer", "When does your annual sale start this year?"),
            ("agent", "Let me check our calendar for you."),
        ],
    ),
    (
        "abcd-storewide_query.policy",
        [
            ("customer", "What's your return policy? How many days do I have to send something back?"),
            ("agent", "Let me find our policy for you."),
        ],
    ),
    (
        "abcd-storewide_query.pricing",
        [
            ("customer", "How much do you charge for gift wrapping?"),
            ("agent", "One moment, let me check that."),
        ],
    ),
]
