"""Vocabulary of the rules, and the regex fragments built from it.

Relations, pets, counted nouns, jobs, nationalities and capitalised words that are no names;
fragments for a name, a relation or pet, an adverb and the end of a noun phrase.
"""

from memory.text.normalise import collapse_space
from memory.text.patterns import alternation

RELATIONS = {
    "sister": "sister", "sis": "sister", "brother": "brother", "wife": "wife",
    "husband": "husband", "hubby": "husband", "partner": "partner", "spouse": "spouse",
    "boyfriend": "boyfriend", "girlfriend": "girlfriend", "fiance": "fiance", "fiancé": "fiance",
    "fiancee": "fiancee", "fiancée": "fiancee", "mom": "mother", "mum": "mother",
    "mother": "mother", "mama": "mother", "mommy": "mother", "dad": "father", "father": "father",
    "papa": "father", "daddy": "father", "son": "son", "daughter": "daughter", "kid": "child",
    "child": "child", "friend": "friend", "best friend": "best_friend", "bestie": "best_friend",
    "boss": "boss", "roommate": "roommate", "flatmate": "roommate", "cousin": "cousin",
    "aunt": "aunt", "uncle": "uncle", "grandma": "grandmother", "grandmother": "grandmother",
    "granny": "grandmother", "grandpa": "grandfather", "grandfather": "grandfather",
    "niece": "niece", "nephew": "nephew", "coworker": "coworker", "co-worker": "coworker",
    "colleague": "colleague", "neighbor": "neighbor", "neighbour": "neighbor", "mentor": "mentor",
    "stepmom": "stepmother", "stepmother": "stepmother", "stepdad": "stepfather",
    "stepfather": "stepfather",
}  # fmt: skip
# Relations a person has one of at a time: a new name for them is a knowledge update.
SINGLE_RELATIONS = frozenset(
    {"wife", "husband", "partner", "spouse", "boyfriend", "girlfriend", "fiance", "fiancee",
     "mother", "father", "boss", "stepmother", "stepfather"}
)  # fmt: skip
PETS = {
    "dog": "dog", "puppy": "dog", "pup": "dog", "doggo": "dog", "cat": "cat", "kitten": "cat",
    "kitty": "cat", "rabbit": "rabbit", "bunny": "rabbit", "hamster": "hamster",
    "guinea pig": "guinea_pig", "parrot": "parrot", "bird": "bird", "budgie": "budgie",
    "fish": "fish", "goldfish": "goldfish", "turtle": "turtle", "tortoise": "tortoise",
    "horse": "horse", "pony": "pony", "snake": "snake", "lizard": "lizard", "gecko": "gecko",
    "ferret": "ferret",
}  # fmt: skip
# Plural nouns that "I have two ..." counts, and the attribute each count is kept under.
COUNTED = {
    "kids": "has_kids", "children": "has_kids", "sons": "has_sons", "daughters": "has_daughters",
    "sisters": "has_sisters", "brothers": "has_brothers", "siblings": "has_siblings",
    "grandkids": "has_grandchildren", "grandchildren": "has_grandchildren", "dogs": "has_dogs",
    "cats": "has_cats", "pets": "has_pets", "kid": "has_kids", "child": "has_kids",
    "son": "has_sons", "daughter": "has_daughters", "sister": "has_sisters",
    "brother": "has_brothers", "sibling": "has_siblings",
}  # fmt: skip
JOB_NOUNS = (
    "engineer", "developer", "programmer", "designer", "teacher", "professor", "lecturer", "nurse",
    "doctor", "physician", "surgeon", "dentist", "pharmacist", "therapist", "psychologist",
    "psychiatrist", "counselor", "counsellor", "lawyer", "attorney", "accountant", "architect",
    "artist", "painter", "musician", "singer", "songwriter", "writer", "author", "journalist",
    "editor", "photographer", "chef", "cook", "baker", "barista", "bartender", "waiter", "waitress",
    "cashier", "mechanic", "electrician", "plumber", "carpenter", "firefighter", "officer",
    "soldier", "pilot", "driver", "farmer", "scientist", "researcher", "analyst", "consultant",
    "manager", "director", "executive", "ceo", "cto", "founder", "co-founder", "entrepreneur",
    "student", "intern", "librarian", "veterinarian", "vet", "paramedic", "technician", "salesman",
    "saleswoman", "salesperson", "realtor", "banker", "economist", "translator", "interpreter",
    "secretary", "assistant", "receptionist", "clerk", "coach", "trainer", "instructor", "tutor",
    "dancer", "actor", "actress", "producer", "freelancer", "contractor", "administrator",
    "mathematician", "physicist", "chemist", "biologist", "postdoc", "caregiver", "nanny",
    "babysitter", "housekeeper", "janitor", "cleaner", "gardener", "tailor", "butcher", "builder",
    "welder", "miner", "fisherman", "sailor", "teller", "auditor", "broker", "trader", "investor",
    "streamer", "youtuber", "blogger", "influencer", "podcaster", "homemaker", "retiree", "worker",
    "specialist", "coordinator", "supervisor", "strategist", "paralegal", "midwife", "optometrist",
    "physiotherapist", "illustrator", "animator", "filmmaker", "composer"
)  # fmt: skip
NATIONALITIES = frozenset(
    {
        "american", "british", "english", "scottish", "welsh", "irish", "canadian", "australian",
        "german", "french", "spanish", "italian", "portuguese", "dutch", "belgian", "swiss",
        "austrian", "swedish", "norwegian", "danish", "finnish", "polish", "czech", "slovak",
        "russian", "ukrainian", "greek", "turkish", "chinese", "japanese", "korean", "indian",
        "pakistani", "bangladeshi", "brazilian", "mexican", "argentinian", "argentine", "colombian",
        "chilean", "peruvian", "nigerian", "kenyan", "egyptian", "moroccan", "israeli", "iranian",
        "vietnamese", "thai", "filipino", "indonesian", "malaysian", "singaporean", "hungarian",
        "romanian", "bulgarian", "serbian", "croatian", "lebanese", "syrian", "ethiopian",
        "ghanaian", "cuban", "jamaican", "venezuelan", "icelandic", "estonian", "latvian",
        "lithuanian"
    }
)  # fmt: skip
# Capitalised words that follow "I'm" without being a name.
NOT_NAMES = frozenset(
    {
        "sorry", "fine", "good", "great", "ok", "okay", "well", "tired", "happy", "sad", "here",
        "there", "back", "glad", "sure", "not", "so", "just", "really", "very", "still", "going",
        "doing", "feeling", "trying", "thinking", "looking", "also", "always", "never", "excited",
        "thrilled", "new", "old", "single", "married", "done", "ready", "home", "the", "a", "an",
        "and", "but", "too", "afraid", "aware", "busy", "bored", "hungry", "this", "that", "he",
        "she", "it", "they", "we", "you", "i", "my", "your", "his", "her", "our", "their", "what",
        "who", "today", "yesterday", "tomorrow", "everyone", "nobody", "somebody", "someone",
        "maybe", "god", "christian", "catholic", "jewish", "muslim", "buddhist", "hindu", "atheist",
        "gay", "straight", "bi", "trans", "vegan", "vegetarian", "in", "on", "at", "from", "with",
        "by", "for", "of", "to", "about", "like", "love", "hey", "hi", "hello", "thanks", "thank",
        "please", "yes", "no", "yeah", "yep", "nope", "lol", "omg", "wow", "oh", "um", "now",
        "then", "human", "bot", "ai", "user", "pretty", "quite", "kind", "proud", "lucky",
        "blessed", "grateful", "thankful", "interested", "curious", "worried", "nervous", "scared",
        "confused", "surprised", "obsessed", "allergic", "currently", "originally", "actually",
        "literally", "honestly", "definitely", "totally", "almost", "finally", "learning",
        "working", "living", "planning", "studying", "getting", "having", "being", "moving",
        "starting", "retired", "pregnant", "engaged", "divorced", "free", "available", "late",
        "early", "alone", "alive", "sick", "ill", "alright", "all", "important", "none", "nothing",
        "january", "february", "march", "april", "may", "june", "july", "august", "september",
        "october", "november", "december", "monday", "tuesday", "wednesday", "thursday", "friday",
        "saturday", "sunday"
    }
)  # fmt: skip
_ADVERB_WORDS = (
    "really", "also", "just", "finally", "actually", "totally", "absolutely", "still", "recently",
    "truly", "definitely", "honestly", "seriously", "genuinely", "always", "now", "currently",
    "officially", "already", "literally", "kinda", "kind of", "sort of", "sorta", "pretty much",
    "mostly", "mainly", "usually", "originally", "even", "so", "basically", "secretly", "lowkey",
    "probably", "only",
)  # fmt: skip

NAME = r"(?-i:(?:[A-Z]')?[A-Z][a-z]+(?:-[A-Z][a-z]+)?)"
NAMES = rf"{NAME}(?:\s+{NAME}){{0,2}}"
REF = alternation([*RELATIONS, *PETS])
REF_ADJ = (
    r"(?:(?:little|big|older|younger|baby|new|twin|oldest|youngest|eldest|elder|dear|lovely|"
    r"sweet|adorable|own|rescue|other|first|second|favorite|favourite)\s+)*"
)
ADVERB = alternation(_ADVERB_WORDS)
# What may follow a noun that ends a phrase: the end, punctuation, or a word that starts a new one.
END = (
    r"(?=\s*(?:$|[^\w\s']|(?:and|but|so|or|who|which|that|at|in|from|now|too|as|for|with|whose|"
    r"since|because|named|called|by|lol|haha)\b))"
)
COUNT = r"\d{1,2}|no|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve"


def ref_of(word: str) -> tuple[str, bool]:
    """The attribute a relation or pet word is kept under ("mum" -> "mother", "pup" -> "dog"),
    and whether it names a pet."""
    word = collapse_space(word.lower())
    if word in PETS:
        return PETS[word], True
    return RELATIONS[word], False
