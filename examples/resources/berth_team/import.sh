# A team is imported by its name.
terraform import berth_team.payments payments
