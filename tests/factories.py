import factory

from tenants.models import EndUser, Thread, Vendor


class VendorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Vendor

    name = factory.Sequence(lambda n: f"Vendor {n}")
    slug = factory.Sequence(lambda n: f"vendor-{n}")


class EndUserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EndUser

    vendor = factory.SubFactory(VendorFactory)
    external_id = factory.Sequence(lambda n: f"user-{n}")


class ThreadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Thread

    end_user = factory.SubFactory(EndUserFactory)
    external_id = factory.Sequence(lambda n: f"thread-{n}")
