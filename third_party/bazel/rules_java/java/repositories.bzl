"""No remote Java repositories: the project builds no Java."""

def rules_java_dependencies():
    pass

def rules_java_toolchains():
    pass
