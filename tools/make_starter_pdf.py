#!/usr/bin/env python3
"""Build knowledge/hr/travel-and-expenses.pdf, the starter travel and expenses policy.

The policy text lives in this script. Run from the project root:

    python tools/make_starter_pdf.py

Needs fpdf2 (pinned in requirements-dev.txt). Only the built-in core fonts are
used, so all text must stay within Latin-1 (write "EUR", not the euro sign).
Every topic gets its own page with its heading at the top, so an answer can be
traced to one page.
"""

from datetime import datetime, timezone
from pathlib import Path

from fpdf import FPDF

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "knowledge" / "hr" / "travel-and-expenses.pdf"

TITLE = "Northwind Labs Travel and Expenses Policy"

# Each page: (heading, list of blocks). A block is ("p", text),
# ("ul", [items]) or ("table", [header_row, row, ...]).
PAGES = [
    (
        "1. Overview and Trip Approval",
        [
            ("p", "This policy explains how employees of Northwind Labs book business travel "
                  "and how they are reimbursed for business expenses. It applies to all employees "
                  "in the Berlin and Shanghai offices and to remote staff. All bookings, expense "
                  "claims and approvals are handled in Spendly, our travel and expense tool."),
            ("p", "Principles:"),
            ("ul", [
                "Travel only when a meeting cannot reasonably be held by video call.",
                "Spend company money as carefully as if it were your own.",
                "Choose the most economical option that still lets you arrive rested and able to work.",
                "Nobody approves their own trip or their own expenses.",
            ]),
            ("p", "Trip approval: every business trip must be approved in Spendly before anything "
                  "is booked. Create a trip request in Spendly with the purpose, dates, destination "
                  "and estimated cost. Domestic trips are approved by your line manager. "
                  "International trips are approved by your line manager and your department head. "
                  "Trips to countries under EU, UN or Chinese sanctions are not allowed."),
            ("p", "All employees are covered by the company business travel insurance "
                  "automatically; the insurance certificate and the 24/7 assistance number are "
                  "available in Spendly under Travel."),
        ],
    ),
    (
        "2. Booking Rules: Flights, Trains, Cars and Taxis",
        [
            ("p", "Book all flights, trains, hotels and rental cars through Spendly Travel after "
                  "your trip is approved. Book flights at least 14 days before departure whenever "
                  "possible. Bookings made outside Spendly are only reimbursed if they were cheaper "
                  "than the Spendly offer for the same trip."),
            ("p", "Flights:"),
            ("ul", [
                "Economy class for flights of up to 6 hours.",
                "Premium economy is allowed for flights longer than 6 hours.",
                "Business class only with prior approval by the CFO.",
                "Checked luggage and seat reservations are reimbursed for trips of 3 nights or more.",
            ]),
            ("p", "Trains:"),
            ("ul", [
                "Take the train instead of a flight when the train journey takes less than 4 hours "
                "(for example Berlin - Hamburg, or Shanghai - Nanjing).",
                "Second class is standard. First class is allowed when the train journey takes "
                "more than 4 hours.",
                "In China, book second class on high-speed trains; first class for journeys of more than 4 hours.",
            ]),
            ("p", "Rental cars: only if public transport is not practical or a car is cheaper. Book "
                  "the compact category; insurance is included in Spendly bookings."),
            ("p", "Taxis and ride-hailing: allowed between 22:00 and 06:00, with heavy luggage or "
                  "equipment, or when no reasonable public transport exists. Otherwise use public "
                  "transport."),
            ("p", "You may keep loyalty points, but they must not influence which flight or hotel you book."),
        ],
    ),
    (
        "3. Hotel Caps per City",
        [
            ("p", "Hotels are booked in Spendly. The following caps are the maximum price per night "
                  "for a standard single room, including taxes. Breakfast may be included if the "
                  "total stays within the cap."),
            ("table", [
                ["City", "Maximum per night"],
                ["Berlin", "EUR 150"],
                ["Hamburg", "EUR 150"],
                ["Frankfurt", "EUR 160"],
                ["Munich", "EUR 170"],
                ["Paris", "EUR 200"],
                ["London", "GBP 200"],
                ["New York", "USD 300"],
                ["Singapore", "SGD 300"],
                ["Shanghai", "CNY 900"],
                ["Beijing", "CNY 900"],
                ["Shenzhen", "CNY 800"],
                ["Other cities in China", "CNY 700"],
                ["All other cities", "EUR 130"],
            ]),
            ("p", "During trade fairs or major events, the cap may be exceeded by up to 50 percent "
                  "with your manager's approval in Spendly. For stays of 7 nights or more, a serviced "
                  "apartment may be booked if it stays within the cap. Hotel costs above the cap "
                  "without approval are not reimbursed."),
        ],
    ),
    (
        "4. Per-Diem Meal Allowances per City",
        [
            ("p", "For business trips you receive a per-diem allowance for meals instead of "
                  "reimbursement of meal receipts. Per diems are added automatically to your trip "
                  "claim in Spendly; no receipts are needed. A full day is a day with 24 hours "
                  "away from home. The partial-day rate applies to the arrival and departure days "
                  "of an overnight trip and to day trips of more than 8 hours. Day trips of 8 hours "
                  "or less get no per diem."),
            ("table", [
                ["City or country", "Full day", "Partial day"],
                ["Berlin and other German cities", "EUR 28", "EUR 14"],
                ["Paris", "EUR 45", "EUR 23"],
                ["Other EU cities", "EUR 40", "EUR 20"],
                ["London", "GBP 45", "GBP 23"],
                ["New York", "USD 70", "USD 35"],
                ["Singapore", "SGD 80", "SGD 40"],
                ["Shanghai", "CNY 300", "CNY 150"],
                ["Beijing and Shenzhen", "CNY 300", "CNY 150"],
                ["Other cities in China", "CNY 220", "CNY 110"],
                ["All other countries", "EUR 40", "EUR 20"],
            ]),
            ("p", "If a meal is provided (by a hotel, a customer, a conference or on the flight), "
                  "the full-day rate is reduced by 20 percent for breakfast, 40 percent for lunch "
                  "and 40 percent for dinner. Mark provided meals in your Spendly trip claim."),
        ],
    ),
    (
        "5. Receipts and Submitting Expenses in Spendly",
        [
            ("p", "Deadline: submit your expense claim in Spendly within 30 days after the end of "
                  "the trip. For expenses that are not part of a trip, submit the claim within "
                  "30 days of the purchase date."),
            ("p", "How to submit:"),
            ("ul", [
                "Take a photo of each receipt with the Spendly mobile app, or upload a PDF.",
                "Receipts must be itemised and show the date, vendor, amount and tax.",
                "In China, an official fapiao is required for every expense.",
                "Invoices over EUR 250 (CNY 1,950) must be issued to the Northwind Labs company name.",
                "Add the business purpose and, for meals with guests, the names of all attendees.",
                "Submit the claim; your approver is notified automatically.",
            ]),
            ("p", "Missing receipts: if a receipt is lost, complete the missing receipt declaration in "
                  "Spendly. This is accepted for items of up to EUR 50 and at most 3 times per "
                  "calendar year."),
            ("p", "Late claims: claims submitted more than 30 days late need approval by your "
                  "department head with a written reason. Claims older than 90 days are not "
                  "reimbursed."),
            ("p", "Payment: claims approved by the 15th of a month are paid with that month's "
                  "salary on the last working day of the month. Claims approved later are paid "
                  "with the following month's salary."),
            ("p", "Corporate cards: employees who travel more than 4 times per year can request a "
                  "corporate card in Spendly. Card payments also need receipts in Spendly within "
                  "30 days."),
        ],
    ),
    (
        "6. Mileage and Local Transport",
        [
            ("p", "Using your private car for business trips must be approved in the trip request "
                  "and is only allowed if it is cheaper or more practical than public transport or "
                  "a rental car."),
            ("table", [
                ["Employees based in", "Mileage rate"],
                ["Germany, EU and other countries", "EUR 0.30 per km"],
                ["China", "CNY 2.00 per km"],
            ]),
            ("p", "Enter the start and end address in Spendly; the distance is calculated "
                  "automatically. The mileage rate covers fuel, wear and insurance. Passengers "
                  "who are colleagues do not increase the rate."),
            ("ul", [
                "Parking fees and road tolls are reimbursed with receipts.",
                "Traffic and parking fines are never reimbursed.",
                "Public transport tickets at the destination are reimbursed in full.",
                "Travel between your home and your regular office is commuting, not business "
                "travel, and is not reimbursed.",
            ]),
        ],
    ),
    (
        "7. Approval Limits",
        [
            ("p", "Every expense claim and every purchase is approved in Spendly according to its "
                  "total amount. Amounts in other currencies are converted to EUR at the Spendly "
                  "daily rate. For Shanghai contracts, the fixed CNY limits in brackets apply."),
            ("table", [
                ["Total amount", "Approved by"],
                ["Up to EUR 500 (CNY 3,900)", "Line manager"],
                ["More than EUR 500, up to EUR 2,500 (CNY 19,500)", "Department head"],
                ["More than EUR 2,500, up to EUR 10,000 (CNY 78,000)", "CFO"],
                ["More than EUR 10,000 (CNY 78,000)", "CEO"],
            ]),
            ("p", "Trip requests: domestic trips are approved by your line manager; international "
                  "trips by your line manager and your department head; business class flights by "
                  "the CFO."),
            ("p", "Client entertainment: up to EUR 80 (CNY 600) per person, including drinks and "
                  "tips. Record the names and companies of all attendees. Entertainment always needs "
                  "at least department head approval, even for small amounts."),
            ("p", "Gifts to business partners: up to EUR 35 per recipient per calendar year. "
                  "Approvers may not approve their own expenses or expenses of their own manager; "
                  "such claims go to the next level up."),
        ],
    ),
    (
        "8. Non-Reimbursable Items and Contacts",
        [
            ("p", "The following costs are not reimbursed:"),
            ("ul", [
                "Minibar, in-room movies and other personal hotel extras.",
                "Travel class or room upgrades without approval.",
                "Traffic and parking fines.",
                "Travel costs of partners, family members or friends.",
                "Personal clothing, toiletries and items for private use.",
                "Alcohol, except as part of approved client entertainment.",
                "Costs of private extensions of a business trip (for example extra hotel nights for a holiday).",
            ]),
            ("p", "Tips of up to 10 percent in restaurants and taxis are reimbursed where tipping is "
                  "customary."),
            ("p", "Contacts:"),
            ("ul", [
                "Questions about expenses, Spendly and reimbursements: Finance team, "
                "finance@northwind.example, extension 4300.",
                "Spendly access and sign-in problems: IT helpdesk, helpdesk@northwind.example, "
                "extension 4400.",
                "Working abroad and travel-related HR questions: People Team, "
                "people@northwind.example, extension 4200.",
            ]),
        ],
    ),
]


class PolicyPDF(FPDF):
    def header(self):
        if self.page_no() == 1:  # the first page carries the full title instead
            return
        self.set_font("Helvetica", "I", 8)
        self.set_text_color(110, 110, 110)
        self.cell(0, 5, TITLE, new_x="LMARGIN", new_y="NEXT")
        self.set_text_color(0, 0, 0)
        self.ln(4)

    def footer(self):
        self.set_y(-15)
        self.set_font("Helvetica", "I", 8)
        self.set_text_color(110, 110, 110)
        self.cell(0, 10, f"Page {self.page_no()} of {len(PAGES)}", align="C")
        self.set_text_color(0, 0, 0)


def add_block(pdf, kind, content):
    width = pdf.epw
    if kind == "p":
        pdf.set_font("Helvetica", "", 11)
        pdf.multi_cell(width, 6, content, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2)
    elif kind == "ul":
        pdf.set_font("Helvetica", "", 11)
        for item in content:
            pdf.set_x(pdf.l_margin + 4)
            pdf.multi_cell(width - 4, 6, "- " + item, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2)
    elif kind == "table":
        pdf.set_font("Helvetica", "", 10)
        with pdf.table(line_height=6, text_align="LEFT",
                       first_row_as_headings=True) as table:
            for row in content:
                table.row(row)
        pdf.ln(3)
    else:
        raise ValueError(kind)


def build(output=OUTPUT):
    pdf = PolicyPDF(format="A4")
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.set_title(TITLE)
    pdf.set_author("Northwind Labs Finance")
    pdf.set_subject("Business travel and expense reimbursement")
    # fixed date, so that re-running the script gives a byte-identical file
    pdf.set_creation_date(datetime(2025, 1, 1, tzinfo=timezone.utc))
    for heading, blocks in PAGES:
        pdf.add_page()
        if heading == PAGES[0][0]:
            pdf.set_font("Helvetica", "B", 18)
            pdf.multi_cell(pdf.epw, 9, TITLE, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(3)
        pdf.set_font("Helvetica", "B", 15)
        pdf.multi_cell(pdf.epw, 8, heading, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(3)
        for kind, content in blocks:
            add_block(pdf, kind, content)
    if pdf.page_no() != len(PAGES):
        raise SystemExit(f"a topic overflowed: {pdf.page_no()} pages for {len(PAGES)} topics")
    output.parent.mkdir(parents=True, exist_ok=True)
    pdf.output(str(output))
    return output


if __name__ == "__main__":
    path = build()
    print(f"wrote {path} ({path.stat().st_size} bytes)")
