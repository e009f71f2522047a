# A stack project is imported by its name. berth shows a project's key only
# when it makes it, so an imported project has no api_key in the state.
terraform import berth_stack_project.web web
