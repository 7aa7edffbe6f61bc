"""What we accept from people and programs before any rule runs: field rules declared once
(`fieldspec`), the API's request bodies (`api_bodies`), text we agree to store (`text`) and whole
numbers typed by people (`numbers`)."""
