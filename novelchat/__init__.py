"""NovelChat (书聊): talk to a novel."""
