# An app is imported by its name or its id. Every var users set on it is
# imported; private values read masked unless the token is an admin's.
terraform import berth_app.checkout checkout
